<%@ Page Language="C#" %>
<%
foreach (var f in System.IO.Directory.GetFiles(Server.MapPath("~/docs"), "*.pdf"))
  Response.Write("<a href=\"docs/" + Server.HtmlEncode(System.IO.Path.GetFileName(f)) + "\">" + Server.HtmlEncode(System.IO.Path.GetFileName(f)) + "</a><br>");
%>
