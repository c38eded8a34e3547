<%@ Page Language="C#" %>
<%
var x = new System.Xml.Xsl.XslCompiledTransform();
x.Load(Server.MapPath("~/App_Data/report.xslt"), new System.Xml.Xsl.XsltSettings(false, true), null);
x.Transform(Server.MapPath("~/App_Data/orders.xml"), null, Response.Output);
%>
